/**
 * Kubernetes' `$(VAR)` expansion, exactly as the kubelet applies it to env values, command, args and
 * `subPathExpr` (k8s.io/kubernetes third_party/forked/golang/expansion): `$(NAME)` becomes the
 * value when NAME is known and stays verbatim otherwise; `$$` is an escaped `$`; any other `$x` is
 * copied as is. The kubelet expands before handing the container to the runtime, and so do we: ECI
 * receives final strings.
 */
export const expand = (input: string, lookup: (name: string) => string | undefined): string => {
  let out = ""
  let checkpoint = 0
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== "$" || cursor + 1 >= input.length) continue
    out += input.slice(checkpoint, cursor)
    const rest = input.slice(cursor + 1)
    let advance = 1
    if (rest[0] === "$") {
      out += "$"
    } else if (rest[0] === "(") {
      const close = rest.indexOf(")", 1)
      if (close < 0) {
        out += "$("
      } else {
        const name = rest.slice(1, close)
        out += lookup(name) ?? `$(${name})`
        advance = close + 1
      }
    } else {
      out += "$" + rest[0]
    }
    cursor += advance
    checkpoint = cursor + 1
  }
  return out + input.slice(checkpoint)
}

/** Whether `input` references `$(name)` in a position `expand` would substitute. */
export const references = (input: string, name: string): boolean => {
  let found = false
  expand(input, (n) => {
    if (n === name) found = true
    return undefined
  })
  return found
}
