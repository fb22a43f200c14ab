# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(image_mode_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/image_mode_test.cc LABELS integration)
wtcachefs_add_test(image_tools_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/image_tools_test.cc LABELS integration TIMEOUT 600)
wtcachefs_add_test(image_scale_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/image_scale_test.cc LABELS integration)
