# SPDX-License-Identifier: Apache-2.0
# Sourced by test.sh and fuzz.sh: lsan_works DIR COMPILER prints 1 when
# LeakSanitizer works here, else 0 with a warning. It cannot run under ptrace
# (strace, gdb, some CI runners): there every sanitized process would die with
# "LeakSanitizer has encountered a fatal error". The probe is a program that
# leaks on purpose; leak checking stays on only if the leak is reported.
lsan_works() {
  local dir=$1 compiler=$2
  mkdir -p "$dir"
  printf '%s\n' '#include <cstdlib>' \
    'void* volatile kept;' \
    'int main() { kept = std::malloc(64); kept = nullptr; return 0; }' > "$dir/leak.cc"
  "$compiler" -fsanitize=address -g "$dir/leak.cc" -o "$dir/leak"
  if ASAN_OPTIONS=detect_leaks=1 "$dir/leak" 2>&1 | grep -q 'detected memory leaks'; then
    echo 1
  else
    echo "warning: LeakSanitizer does not work here (running under ptrace?);" \
         "leak checking is off for this run" >&2
    echo 0
  fi
}
