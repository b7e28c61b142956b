# Shared by kiln's cfn-init and cfn-signal (POSIX sh: busybox and Debian images alike).
# Instance facts kiln wrote at launch: KILN_INSTANCE_ID, KILN_REGION, KILN_STACK.
[ -r /.kiln/instance.env ] && . /.kiln/instance.env
KILN_IMDS=169.254.169.254

# kiln_http METHOD URL [BODY]: prints the response body; fails unless the status is 2xx.
# curl when the image has it, else bash's /dev/tcp, else busybox nc.
kiln_http() {
  m=$1 u=$2 b=${3-}
  case "$u" in http://*) ;; *) echo "only http:// URLs are reachable on the local target: $u" >&2; return 2 ;; esac
  if command -v curl >/dev/null 2>&1; then
    curl -sS -f --max-time 30 -X "$m" -H 'Content-Type:' ${3+--data-binary "$b"} "$u"
    return
  fi
  hp=${u#http://}; pth=/${hp#*/}; hp=${hp%%/*}; [ "$pth" = "/$hp" ] && pth=/
  host=${hp%%:*}; port=80; case "$hp" in *:*) port=${hp##*:} ;; esac
  n=$(printf %s "$b" | wc -c | tr -d ' ')
  req=$(printf '%s %s HTTP/1.0\r\nHost: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "$m" "$pth" "$hp" "$n" "$b")
  if command -v bash >/dev/null 2>&1; then
    resp=$(bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 7; printf %s "$3" >&3; cat <&3' kiln-http "$host" "$port" "$req") || { echo "cannot connect to $hp" >&2; return 7; }
  elif command -v nc >/dev/null 2>&1; then
    resp=$(printf %s "$req" | nc -w 30 "$host" "$port") || { echo "cannot connect to $hp" >&2; return 7; }
  else
    echo "no HTTP client in this image (curl, bash or nc)" >&2; return 127
  fi
  status=$(printf %s "$resp" | head -n 1 | cut -d' ' -f2)
  printf %s "$resp" | awk 'b {print} /^\r?$/ && !b {b=1}'
  case "$status" in 2??) return 0 ;; *) echo "HTTP $status from $u" >&2; return 22 ;; esac
}

# JSON string escaping for the few values cfn-signal sends.
kiln_json() { printf %s "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\n\t\r' '   '; }
