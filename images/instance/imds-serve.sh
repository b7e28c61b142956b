#!/bin/sh
# kiln's instance metadata service: one HTTP request per connection, run by `nc -ll -e` (busybox).
# Data (written by kiln from the host, see imds.ts):
#   /imds/ip/<private ip>      the instance id holding that address in this VPC
#   /imds/i/<instance id>/tokens  "required" when IMDSv2 is enforced (HttpTokens: required)
#   /imds/i/<instance id>/latest/...  the tree served (files = values, dirs = listings; a dir's
#                                      `.list` file, when present, is its listing)
#   /imds/t/<token>             "<ip> <expiry epoch seconds>" (IMDSv2 session tokens)
#   /imds/s/<key>/<n>.json      signals (cfn-signal, WaitConditionHandle URLs) kiln collects
R=/imds
CR=$(printf '\r')

reply() { # status text body
  printf 'HTTP/1.1 %s %s\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nServer: EC2ws\r\nConnection: close\r\n\r\n%s' "$1" "$2" "${#3}" "$3"
  exit 0
}

# The caller's address: the socket on stdin, looked up by inode in this namespace's TCP table.
ino=$(readlink /proc/self/fd/0 2>/dev/null)
ino=${ino#socket:[}
ino=${ino%]}
rem=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v i="$ino" '$10==i {print $3; exit}')
h=${rem%:*}
h=${h#${h%????????}}
src=""
[ ${#h} -eq 8 ] && src=$(printf '%d.%d.%d.%d' "0x$(echo "$h" | cut -c7-8)" "0x$(echo "$h" | cut -c5-6)" "0x$(echo "$h" | cut -c3-4)" "0x$(echo "$h" | cut -c1-2)")

IFS=' ' read -r method path proto || exit 0
method=${method%"$CR"}
path=${path%"$CR"}
path=${path%%\?*}
len=0
tok=""
ttl=""
while IFS= read -r line; do
  line=${line%"$CR"}
  [ -z "$line" ] && break
  name=$(printf %s "${line%%:*}" | tr 'A-Z' 'a-z')
  value=${line#*:}
  value=${value# }
  case "$name" in
    content-length) len=$value ;;
    x-aws-ec2-metadata-token) tok=$value ;;
    x-aws-ec2-metadata-token-ttl-seconds) ttl=$value ;;
  esac
done

case "$path" in
  *..*) reply 400 'Bad Request' 'Bad Request' ;;
esac

# Signals: PUT (or POST) a JSON body to /kiln/signal/<stack>/<logical id> (cfn-signal --stack
# --resource) or to a WaitConditionHandle URL /kiln/wait/<stack>/<logical id>/<token>.
case "$path" in
  /kiln/signal/* | /kiln/wait/*)
    [ "$method" = PUT ] || [ "$method" = POST ] || reply 405 'Method Not Allowed' 'Method Not Allowed'
    rest=${path#/kiln/}
    case "$rest" in
      *[!A-Za-z0-9/_.-]*) reply 400 'Bad Request' 'Bad Request' ;;
    esac
    case "$rest" in
      signal/*/*) key="r.$(echo "${rest#signal/}" | tr '/' '.')" ;;
      wait/*/*/*) key="h.${rest##*/}" ;;
      *) reply 404 'Not Found' 'Not Found' ;;
    esac
    case "$len" in '' | *[!0-9]*) len=0 ;; esac
    [ "$len" -le 65536 ] || reply 413 'Payload Too Large' 'Payload Too Large'
    mkdir -p "$R/s/$key"
    f="$R/s/$key/$(date +%s)-$$.json"
    if [ "$len" -gt 0 ]; then head -c "$len" > "$f.part"; else : > "$f.part"; fi
    mv "$f.part" "$f"
    reply 200 OK ''
    ;;
esac

id=""
[ -n "$src" ] && [ -f "$R/ip/$src" ] && read -r id < "$R/ip/$src"
[ -n "$id" ] && [ -d "$R/i/$id" ] || reply 403 Forbidden 'Forbidden: not an instance of this VPC'

if [ "$path" = /latest/api/token ]; then
  [ "$method" = PUT ] || reply 405 'Method Not Allowed' 'Method Not Allowed'
  case "$ttl" in '' | *[!0-9]*) reply 400 'Bad Request' 'Missing or invalid X-aws-ec2-metadata-token-ttl-seconds' ;; esac
  [ "$ttl" -ge 1 ] && [ "$ttl" -le 21600 ] || reply 400 'Bad Request' 'Missing or invalid X-aws-ec2-metadata-token-ttl-seconds'
  t=$(head -c 30 /dev/urandom | base64 | tr -d '\n/+=' | cut -c1-40)
  mkdir -p "$R/t"
  echo "$src $(($(date +%s) + ttl))" > "$R/t/$t"
  printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-aws-ec2-metadata-token-ttl-seconds: %s\r\nContent-Length: %s\r\nServer: EC2ws\r\nConnection: close\r\n\r\n%s' "$ttl" "${#t}" "$t"
  exit 0
fi
[ "$method" = GET ] || [ "$method" = HEAD ] || reply 405 'Method Not Allowed' 'Method Not Allowed'

if [ -n "$tok" ]; then
  case "$tok" in *[!A-Za-z0-9]*) reply 401 Unauthorized Unauthorized ;; esac
  [ -f "$R/t/$tok" ] || reply 401 Unauthorized Unauthorized
  read -r tip texp < "$R/t/$tok"
  [ "$tip" = "$src" ] && [ "$(date +%s)" -lt "$texp" ] || reply 401 Unauthorized Unauthorized
elif [ -f "$R/i/$id/tokens" ]; then
  reply 401 Unauthorized Unauthorized
fi

p=${path%/}
[ -n "$p" ] || p=/
f="$R/i/$id$p"
if [ "$p" = / ]; then
  reply 200 OK 'latest'
elif [ -d "$f" ]; then
  if [ -f "$f/.list" ]; then body=$(cat "$f/.list"); else
    body=$(for e in "$f"/*; do [ -e "$e" ] || continue; n=${e##*/}; if [ -d "$e" ]; then echo "$n/"; else echo "$n"; fi; done)
  fi
  reply 200 OK "$body"
elif [ -f "$f" ]; then
  n=$(wc -c < "$f" | tr -d ' ')
  printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nServer: EC2ws\r\nConnection: close\r\n\r\n' "$n"
  cat "$f"
  exit 0
fi
reply 404 'Not Found' 'Not Found'
