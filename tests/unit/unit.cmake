wtcachefs_add_test(mount_options_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mount_options_test.cc LABELS unit)
wtcachefs_add_test(privilege_bits_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/privilege_bits_test.cc LABELS unit)
