#!/bin/sh
# text.grep: {"text", "pattern", "ignoreCase"?, "maxMatches"?} on stdin ->
# {"matches": [{"line", "text"}], "count", "truncated"} on stdout.
# The pattern is a fixed string (grep -F), never a regular expression, so no
# input can make the search itself exponential.
set -eu
umask 077
J=/opt/toolcage/lib/json-get.awk
/bin/cat > /tmp/in.json
/bin/awk -v key=text -f "$J" /tmp/in.json > /tmp/text
pattern=$(/bin/awk -v key=pattern -f "$J" /tmp/in.json)
ignore=$(/bin/awk -v key=ignoreCase -v default=false -f "$J" /tmp/in.json)
max=$(/bin/awk -v key=maxMatches -v default=20 -f "$J" /tmp/in.json)
flags=-Fn
[ "$ignore" = true ] && flags=-Fni
# grep: 0 found, 1 none found, 2 trouble.
rc=0
/bin/grep "$flags" -e "$pattern" /tmp/text > /tmp/hits || rc=$?
[ "$rc" -le 1 ] || exit 2
/bin/awk -v max="$max" -v cut=256 -f /opt/toolcage/lib/json-lines.awk /tmp/hits
