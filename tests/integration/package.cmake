# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(package_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/package_test.cc LABELS integration TIMEOUT 900 RESOURCE_LOCK cpack)
target_compile_definitions(package_test PRIVATE WTCACHEFS_BUILD_DIR="${CMAKE_BINARY_DIR}"
                           WTCACHEFS_FUSE3_STATIC=$<BOOL:${WTCACHEFS_FUSE3_STATIC}>)
