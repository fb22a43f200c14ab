# SPDX-License-Identifier: Apache-2.0
# The long crash soak (scripts/crash-soak.sh): built with the tests, never run
# by ctest. It needs root and hours.
add_executable(wtcachefs_crash_soak
  ${CMAKE_CURRENT_LIST_DIR}/crash_soak.cc
  ${CMAKE_CURRENT_LIST_DIR}/crash_checks.cc
  ${CMAKE_CURRENT_LIST_DIR}/crash_counters.cc
  ${CMAKE_CURRENT_LIST_DIR}/crash_model.cc
  ${CMAKE_CURRENT_LIST_DIR}/crash_point.cc
  ${CMAKE_CURRENT_LIST_DIR}/crash_rig.cc
  ${CMAKE_CURRENT_LIST_DIR}/crash_targets.cc
  ${CMAKE_CURRENT_LIST_DIR}/crash_writers.cc
)
target_compile_options(wtcachefs_crash_soak PRIVATE ${WTCACHEFS_WARNINGS})
target_compile_definitions(wtcachefs_crash_soak PRIVATE WTCACHEFS_BINARY="$<TARGET_FILE:wtcachefs>")
target_link_libraries(wtcachefs_crash_soak PRIVATE Threads::Threads)
add_dependencies(wtcachefs_crash_soak wtcachefs)
