# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(mount_options_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mount_options_test.cc LABELS unit)
wtcachefs_add_test(privilege_bits_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/privilege_bits_test.cc LABELS unit)
wtcachefs_add_test(license_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/license_test.cc LABELS unit)
target_compile_definitions(license_test PRIVATE WTCACHEFS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
wtcachefs_add_test(allow_other_check_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/allow_other_check_test.cc LABELS unit)
