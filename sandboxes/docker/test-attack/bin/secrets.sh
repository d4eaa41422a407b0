#!/bin/sh
# Reports what a tool can see of its file credential /run/secrets/$1, as
# JSON: mode, owner, whether it can read or change it, its sha256 (never the
# value), and how /run/secrets is mounted. Test image only.
cat > /dev/null
f="/run/secrets/$1"
if [ -r "$f" ]; then readable=true; else readable=false; fi
if (echo x > "$f") 2>/dev/null; then writable=true; else writable=false; fi
if touch /run/secrets/planted 2>/dev/null; then dirWritable=true; else dirWritable=false; fi
mode=$(stat -c %a "$f" 2>/dev/null)
owner=$(stat -c %u:%g "$f" 2>/dev/null)
dirMode=$(stat -c %a:%u /run/secrets 2>/dev/null)
sum=$(sha256sum "$f" 2>/dev/null | awk '{ print $1 }')
mount=$(awk '$2 == "/run/secrets" { split($4, o, ","); print $1 ":" o[1] }' /proc/self/mounts)
printf '{"uid":%d,"readable":%s,"writable":%s,"dirWritable":%s,"mode":"%s","owner":"%s","dir":"%s","sha256":"%s","mount":"%s"}\n' \
  "$(id -u)" "$readable" "$writable" "$dirWritable" "$mode" "$owner" "$dirMode" "$sum" "$mount"
