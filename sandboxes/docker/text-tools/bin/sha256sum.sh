#!/bin/sh
# text.sha256sum: {"text": string} on stdin -> {"sha256": hex, "bytes": n} on stdout.
# The text is hashed as its UTF-8 bytes, exactly as given (no trailing newline added).
set -eu
umask 077
/bin/awk -v key=text -f /opt/toolcage/lib/json-get.awk > /tmp/text
sum=$(/bin/sha256sum /tmp/text)
bytes=$(/bin/wc -c < /tmp/text)
printf '{"sha256":"%s","bytes":%d}\n' "${sum%% *}" "$bytes"
