# json-get.awk: print the value of one top-level key of the JSON object read
# from the input, for shell entrypoints that have only busybox.
#
#   awk -v key=text [-v default=VALUE] -f json-get.awk FILE
#
# A string value prints as its raw UTF-8 bytes (escapes decoded, no trailing
# newline); true/false/null/numbers print as written. A missing key prints
# `default` when given, else exits 3. Nested objects and arrays are skipped,
# never printed. A string holding U+0000 exits 4 (a shell cannot carry NUL).
#
# The input is expected to come from the host's JSON.stringify (valid JSON,
# schema-checked); this is a reader, not a validator. It splits the text once
# on '"' and once per string on '\', and prints decoded runs directly, so its
# cost stays linear in the input size (busybox awk's substr and concatenation
# are linear in string length; a char-by-char loop would be quadratic).
BEGIN { hexd = "0123456789abcdef"; s = "" }
{ s = s $0 "\n" }

# Output is gathered into blocks: one write per printf would cost a syscall
# per escape sequence.
function emit(x) {
  obuf = obuf x
  if (length(obuf) >= 8192) { printf "%s", obuf; obuf = "" }
}

function flush() {
  if (obuf != "") printf "%s", obuf
  obuf = ""
}

function odd_backslashes(t) {
  if (match(t, /\\+$/)) return RLENGTH % 2
  return 0
}

function hexval(h,   i, v, c) {
  v = 0
  for (i = 1; i <= length(h); i++) {
    c = index(hexd, tolower(substr(h, i, 1)))
    if (c == 0) exit 5
    v = v * 16 + c - 1
  }
  return v
}

function utf8(cp) {
  if (cp == 0) exit 4
  if (cp < 128) return sprintf("%c", cp)
  if (cp < 2048) return sprintf("%c%c", 192 + int(cp / 64), 128 + cp % 64)
  if (cp < 65536) return sprintf("%c%c%c", 224 + int(cp / 4096), 128 + int(cp / 64) % 64, 128 + cp % 64)
  return sprintf("%c%c%c%c", 240 + int(cp / 262144), 128 + int(cp / 4096) % 64, 128 + int(cp / 64) % 64, 128 + cp % 64)
}

# Decode one piece of a JSON string (no unescaped quote inside) and print it
# (tostr == 0) or return it (tostr == 1, for short keys).
function decode(x, tostr,   g, cnt, m, c, rest, out, cp, lo) {
  out = ""
  cnt = split(x, g, "\\")
  if (tostr) out = g[1]; else emit(g[1])
  m = 2
  while (m <= cnt) {
    if (g[m] == "" && m < cnt) {
      # "\\": an escaped backslash; the next piece is literal text.
      if (tostr) out = out "\\" g[m + 1]; else emit("\\" g[m + 1])
      m += 2
      continue
    }
    c = substr(g[m], 1, 1); rest = substr(g[m], 2)
    if (c == "n") c = "\n"
    else if (c == "t") c = "\t"
    else if (c == "r") c = "\r"
    else if (c == "b") c = sprintf("%c", 8)
    else if (c == "f") c = sprintf("%c", 12)
    else if (c == "u") {
      cp = hexval(substr(rest, 1, 4)); rest = substr(rest, 5)
      if (cp >= 55296 && cp < 56320 && rest == "" && m < cnt && substr(g[m + 1], 1, 1) == "u") {
        lo = hexval(substr(g[m + 1], 2, 4))
        if (lo >= 56320 && lo < 57344) {
          cp = 65536 + (cp - 55296) * 1024 + (lo - 56320)
          m++
          rest = substr(g[m], 6)
        }
      }
      c = utf8(cp)
    }
    # '"' and '/' stand for themselves.
    if (tostr) out = out c rest; else emit(c rest)
    m++
  }
  return out
}

# Decode the string made of parts a..b (joined by '"', each but the last
# ending in the backslash that escaped that quote).
function string_of(a, b, tostr,   m, piece, out) {
  out = ""
  for (m = a; m <= b; m++) {
    piece = p[m]
    if (m < b) piece = substr(piece, 1, length(piece) - 1)
    if (tostr) out = out decode(piece, 1); else decode(piece, 0)
    if (m < b) { if (tostr) out = out "\""; else emit("\"") }
  }
  return out
}

END {
  n = split(s, p, "\"")
  depth = 0; want = 0; i = 1
  while (i <= n) {
    out = p[i]
    if (want) {
      v = out; sub(/^[ \t\r\n]*:[ \t\r\n]*/, "", v)
      if (v == "" && i < n) {
        j = i + 1
        while (j < n && odd_backslashes(p[j])) j++
        string_of(i + 1, j, 0)
        flush()
        exit 0
      }
      sub(/[ \t\r\n]*[,}].*$/, "", v)
      if (v ~ /^(true|false|null|-?[0-9][0-9.eE+-]*)$/) { printf "%s", v; exit 0 }
      want = 0 # an object or array: not a scalar, treat as absent
      break
    }
    depth += gsub(/[{[]/, "&", out) - gsub(/[]}]/, "&", out)
    if (i == n) break
    j = i + 1
    while (j < n && odd_backslashes(p[j])) j++
    if (depth == 1 && out ~ /[{,][ \t\r\n]*$/) {
      if (string_of(i + 1, j, 1) == key) want = 1
    }
    i = j + 1
  }
  if (default != "") { printf "%s", default; exit 0 }
  exit 3
}
