# json-lines.awk: turn `grep -n` output ("LINE:TEXT" per line) into the JSON
# text.grep returns: {"matches":[{"line":N,"text":"..."}],"count":N,"truncated":B}.
#
#   awk -v max=20 -v cut=256 -f json-lines.awk HITS
#
# At most `max` matches are listed, each text cut to at most `cut` bytes at a
# UTF-8 character boundary (the input is valid UTF-8, so the output stays so).
BEGIN {
  for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i
  ctrl = sprintf("[%c-%c%c]", 1, 31, 127)
  max += 0; cut += 0; count = 0
  printf "{\"matches\":["
}

function utf8_cut(t,   k, b, lead, need) {
  if (length(t) <= cut) return t
  t = substr(t, 1, cut)
  # Walk back over continuation bytes to the last lead byte, and drop that
  # character when it was cut short.
  k = length(t)
  while (k > 0) { b = ord[substr(t, k, 1)]; if (b < 128 || b >= 192) break; k-- }
  if (k == 0) return ""
  lead = ord[substr(t, k, 1)]
  need = lead >= 240 ? 4 : lead >= 224 ? 3 : lead >= 192 ? 2 : 1
  if (length(t) - k + 1 < need) t = substr(t, 1, k - 1)
  return t
}

function json_escape(t,   out, i, c) {
  gsub(/\\/, "\\\\", t)
  gsub(/"/, "\\\"", t)
  gsub(/\t/, "\\t", t)
  gsub(/\r/, "\\r", t)
  if (t !~ ctrl) return t
  out = ""
  for (i = 1; i <= length(t); i++) {
    c = substr(t, i, 1)
    if (c ~ ctrl) out = out sprintf("\\u%04x", ord[c]); else out = out c
  }
  return out
}

{
  count++
  if (count > max) next
  colon = index($0, ":")
  line = substr($0, 1, colon - 1) + 0
  text = utf8_cut(substr($0, colon + 1))
  printf "%s{\"line\":%d,\"text\":\"%s\"}", (count > 1 ? "," : ""), line, json_escape(text)
}

END { printf "],\"count\":%d,\"truncated\":%s}\n", count, (count > max ? "true" : "false") }
