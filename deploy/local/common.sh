# Shared by deploy/local/up, down and restart: how one service of the local
# runner is started and stopped. Sourced, not run.

# start_service NAME BIN RUNTIME_DIR [FAKE_CLOCK]
start_service() {
  local service=$1 bin=$2 runtime_dir=$3 fake_clock=${4:-}
  local args=(--runtime-dir "$runtime_dir")
  [[ -n "$fake_clock" ]] && args+=(--fake-clock "$fake_clock")
  nohup "$bin/$service" "${args[@]}" >>"$runtime_dir/$service.log" 2>&1 &
  echo $! >"$runtime_dir/$service.pid"
  echo "==> started $service (pid $!)"
}

# stop_service NAME RUNTIME_DIR: SIGTERM (the service drains), wait up to 30 s.
stop_service() {
  local service=$1 runtime_dir=$2
  local pidfile="$runtime_dir/$service.pid"
  [[ -f "$pidfile" ]] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "==> $service was not running"
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "==> $service (pid $pid) did not stop within 30 s; still running" >&2
    return 1
  fi
  echo "==> stopped $service"
  rm -f "$pidfile"
}

# socket_answers PATH: whether a process accepts connections on the Unix socket.
socket_answers() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)
PY
}
