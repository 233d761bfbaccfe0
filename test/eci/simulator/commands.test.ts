import { describe, expect, it } from "@effect/vitest"
import { parseScript, quoteArgv, runTimeline, type ShellContext, ShellSyntaxError } from "../../../src/eci/simulator/commands.ts"
import { runSync } from "../../../src/eci/simulator/exec.ts"

const container: ShellContext = {
  mode: "container",
  env: [["GREETING", "hello"], ["POD_IP", "10.0.0.7"]],
  hostname: "web-0",
  workingDir: "/app",
  files: new Map([["/etc/config/app.conf", new TextEncoder().encode("port=8080\n")]])
}
const exec: ShellContext = { ...container, mode: "exec" }

const timeline = (argv: ReadonlyArray<string>) => runTimeline(argv, container, 50)
const text = (argv: ReadonlyArray<string>) => timeline(argv).lines.map((l) => l.text)

describe("command model: a container's process as a timeline", () => {
  it("an image with no command runs until killed and logs periodically", () => {
    expect(timeline([]).end).toEqual({ kind: "forever", atMs: 0, service: true })
  })

  it("an unknown program (nginx, python app.py) is a long-running service", () => {
    expect(timeline(["nginx", "-g", "daemon off;"]).end).toEqual({ kind: "forever", atMs: 0, service: true })
  })

  it("sleep N runs N seconds and exits 0; fractions and units are understood", () => {
    expect(timeline(["sleep", "5"]).end).toEqual({ kind: "exit", code: 0, atMs: 5_000 })
    expect(timeline(["sleep", "0.25"]).end).toEqual({ kind: "exit", code: 0, atMs: 250 })
    expect(timeline(["sleep", "2m"]).end).toEqual({ kind: "exit", code: 0, atMs: 120_000 })
  })

  it("sleep infinity runs forever without logging", () => {
    expect(timeline(["sleep", "infinity"]).end).toEqual({ kind: "forever", atMs: 0, service: false })
  })

  it("echo prints and exits 0", () => {
    expect(timeline(["echo", "hi", "there"])).toEqual({
      lines: [{ atMs: 0, stream: "stdout", text: "hi there" }],
      end: { kind: "exit", code: 0, atMs: 0 }
    })
  })

  it("exit N, false and true give their exit codes", () => {
    expect(timeline(["sh", "-c", "exit 3"]).end).toEqual({ kind: "exit", code: 3, atMs: 0 })
    expect(timeline(["false"]).end).toMatchObject({ kind: "exit", code: 1 })
    expect(timeline(["true"]).end).toMatchObject({ kind: "exit", code: 0 })
  })

  it("sh -c runs ; and && sequences with output at the right offsets", () => {
    const t = timeline(["/bin/sh", "-c", "echo start; sleep 2; echo middle && sleep 1; echo done; exit 4"])
    expect(t.lines).toEqual([
      { atMs: 0, stream: "stdout", text: "start" },
      { atMs: 2_000, stream: "stdout", text: "middle" },
      { atMs: 3_000, stream: "stdout", text: "done" }
    ])
    expect(t.end).toEqual({ kind: "exit", code: 4, atMs: 3_000 })
  })

  it("&& stops at a failure, || runs on one", () => {
    expect(text(["sh", "-c", "false && echo no; echo yes"])).toEqual(["yes"])
    expect(text(["sh", "-c", "false || echo recovered"])).toEqual(["recovered"])
    expect(timeline(["sh", "-c", "true && false"]).end).toMatchObject({ code: 1 })
  })

  it("exit ends the script at once", () => {
    const t = timeline(["sh", "-c", "echo a; exit 2; echo never"])
    expect(t.lines.map((l) => l.text)).toEqual(["a"])
    expect(t.end).toMatchObject({ code: 2 })
  })

  it("sh -c SCRIPT NAME ARGS sets the positional parameters", () => {
    expect(text(["sh", "-c", "echo $0: $1 $2 ($#) $@", "job", "a", "b"])).toEqual(["job: a b (2) a b"])
  })

  it("expands variables from the container environment, and $?", () => {
    expect(text(["sh", "-c", "echo \"$GREETING from ${POD_IP}\"; false; echo code=$?"])).toEqual([
      "hello from 10.0.0.7",
      "code=1"
    ])
    expect(text(["sh", "-c", "echo '$GREETING' \\$GREETING"])).toEqual(["$GREETING $GREETING"])
  })

  it(">&2 sends output to stderr, >/dev/null discards it", () => {
    expect(timeline(["sh", "-c", "echo err >&2; echo gone >/dev/null; echo out"]).lines).toEqual([
      { atMs: 0, stream: "stderr", text: "err" },
      { atMs: 0, stream: "stdout", text: "out" }
    ])
  })

  it("oom is killed by the kernel after a moment", () => {
    expect(timeline(["sh", "-c", "echo allocating; oom"])).toEqual({
      lines: [{ atMs: 0, stream: "stdout", text: "allocating" }],
      end: { kind: "oom", atMs: 50 }
    })
  })

  it("cat reads mounted config files; a container's stdin is empty", () => {
    expect(text(["cat", "/etc/config/app.conf"])).toEqual(["port=8080"])
    expect(timeline(["cat"]).end).toEqual({ kind: "exit", code: 0, atMs: 0 })
    expect(timeline(["cat", "/missing"])).toMatchObject({ end: { code: 1 }, lines: [{ stream: "stderr" }] })
  })

  it("hostname, pwd, printenv and env describe the container", () => {
    expect(text(["sh", "-c", "hostname; pwd; printenv GREETING"])).toEqual(["web-0", "/app", "hello"])
    expect(text(["env"])).toContain("POD_IP=10.0.0.7")
  })

  it("an unknown program inside a sequence blocks the rest (it runs forever)", () => {
    expect(timeline(["sh", "-c", "echo migrating; exec gunicorn app:app; echo never"])).toEqual({
      lines: [{ atMs: 0, stream: "stdout", text: "migrating" }],
      end: { kind: "forever", atMs: 0, service: true }
    })
  })
})

describe("command model: parsing", () => {
  it("keeps quoted text together", () => {
    expect(parseScript("echo 'a b' \"c d\" e\\ f")).toHaveLength(1)
    expect(runSync(["sh", "-c", "echo 'a  b' \"c;d\" e\\ f"], exec).output).toBe("a  b c;d e f\n")
  })

  it("reports unbalanced quotes and pipes as syntax errors", () => {
    expect(() => parseScript("echo 'oops")).toThrow(ShellSyntaxError)
    expect(() => parseScript("echo a | cat")).toThrow(ShellSyntaxError)
    expect(runSync(["sh", "-c", "echo 'oops"], exec)).toMatchObject({ exitCode: 2 })
  })

  it("quoteArgv round-trips through the parser", () => {
    const argv = ["echo", "it's", "a b", "$HOME", ""]
    expect(runSync(["sh", "-c", quoteArgv(argv)], exec).output).toBe("it's a b $HOME \n")
  })
})

describe("command model: exec (synchronous)", () => {
  it("echo, exit N and an unknown command", () => {
    expect(runSync(["echo", "hi"], exec)).toEqual({ output: "hi\n", exitCode: 0 })
    expect(runSync(["sh", "-c", "echo out; echo err >&2; exit 3"], exec)).toEqual({ output: "out\nerr\n", exitCode: 3 })
    expect(runSync(["ls-tree"], exec)).toEqual({ output: "sh: ls-tree: not found\n", exitCode: 127 })
  })

  it("ls lists mounted files", () => {
    expect(runSync(["ls", "/etc/config"], exec).output).toBe("app.conf\n")
    expect(runSync(["ls", "/nope"], exec).exitCode).toBe(2)
  })
})
