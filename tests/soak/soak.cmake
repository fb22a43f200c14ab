# SPDX-License-Identifier: Apache-2.0
# The soak tool (also usable by hand on any mounted view) and its CI run.
add_executable(wtcachefs_soak ${CMAKE_CURRENT_LIST_DIR}/soak_main.cc)
target_compile_options(wtcachefs_soak PRIVATE ${WTCACHEFS_WARNINGS})
target_link_libraries(wtcachefs_soak PRIVATE Threads::Threads)
wtcachefs_add_test(soak_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/soak_test.cc LABELS integration TIMEOUT 1200)
target_compile_definitions(soak_test PRIVATE WTCACHEFS_SOAK_BINARY="$<TARGET_FILE:wtcachefs_soak>")
add_dependencies(soak_test wtcachefs_soak)
