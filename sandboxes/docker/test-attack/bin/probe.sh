#!/bin/sh
# Reports what a tool can see and do inside its container, as JSON.
# Test image only (toolcage-test/attack).
cat > /dev/null
nets=$(ls /sys/class/net | tr '\n' ' ')
if touch /probe-root 2>/dev/null; then rootWritable=true; else rootWritable=false; fi
if touch /tmp/probe 2>/dev/null; then tmpWritable=true; else tmpWritable=false; fi
tmpExec=false
if cp /bin/busybox /tmp/bb 2>/dev/null && /tmp/bb true 2>/dev/null; then tmpExec=true; fi
rm -f /tmp/bb
capEff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
capBnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
nnp=$(awk '/^NoNewPrivs:/ { print $2 }' /proc/self/status)
seccomp=$(awk '/^Seccomp:/ { print $2 }' /proc/self/status)
pid1=$(cat /proc/1/comm)
devs=$(ls /dev | tr '\n' ' ')
if ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1; then ping=true; else ping=false; fi
printf '{"uid":%d,"gid":%d,"nets":"%s","rootWritable":%s,"tmpWritable":%s,"tmpExec":%s,"capEff":"%s","capBnd":"%s","noNewPrivs":%d,"seccomp":%d,"pid1":"%s","devs":"%s","ping":%s}\n' \
  "$(id -u)" "$(id -g)" "$nets" "$rootWritable" "$tmpWritable" "$tmpExec" "$capEff" "$capBnd" "$nnp" "$seccomp" "$pid1" "$devs" "$ping"
