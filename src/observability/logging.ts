import { Layer, Logger, type LogLevel, References } from "effect"

/**
 * One log line: level, message, and the context annotated on the fiber (node, pod, action,
 * requestId, …) as top-level keys, so a collector can filter on them without parsing the message.
 */
export const formatLine = Logger.map(Logger.formatStructured, (entry): Record<string, unknown> => {
  const line: Record<string, unknown> = { time: entry.timestamp, level: entry.level.toLowerCase(), msg: entry.message }
  for (const [key, value] of Object.entries(entry.annotations)) {
    if (!(key in line)) line[key] = value
  }
  if (entry.cause !== undefined && entry.cause !== "") line["cause"] = entry.cause
  return line
})

/** JSON lines for collectors. `write` is the sink (stdout in production, a buffer in tests). */
export const jsonLogger = (write: (line: string) => void) =>
  Logger.map(formatLine, (line) => write(JSON.stringify(line)))

/** `12:00:01 INFO  message key=value …` for people at a terminal. */
export const textLogger = (write: (line: string) => void) =>
  Logger.map(formatLine, ({ time, level, msg, ...rest }) => {
    const context = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    const clock = String(time).slice(11, 19)
    const text = typeof msg === "string" ? msg : JSON.stringify(msg)
    write([clock, String(level).toUpperCase().padEnd(5), text, ...context].join(" "))
  })

const levels: Record<string, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error"
}

/** The process's logging: format and minimum level from configuration, lines to `write`. */
export const loggingLayer = (options: {
  readonly format: "json" | "text"
  readonly level: "trace" | "debug" | "info" | "warn" | "error"
  readonly write: (line: string) => void
}) =>
  Layer.mergeAll(
    Logger.layer([options.format === "json" ? jsonLogger(options.write) : textLogger(options.write)]),
    Layer.succeed(References.MinimumLogLevel, levels[options.level] ?? "Info")
  )
