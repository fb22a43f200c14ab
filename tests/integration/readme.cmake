# SPDX-License-Identifier: Apache-2.0
# The README's commands. The first is built and run for real, which takes
# minutes of compiling (on one core, beside the other tests): once, in the
# normal build's suite, not again in the sanitizers'.
if(NOT WTCACHEFS_SANITIZE)
  wtcachefs_add_test(readme_commands_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/readme_commands_test.cc LABELS integration TIMEOUT 1800)
  target_compile_definitions(readme_commands_test PRIVATE WTCACHEFS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endif()
