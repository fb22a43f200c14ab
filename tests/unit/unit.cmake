wtcachefs_add_test(mount_options_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mount_options_test.cc LABELS unit)
