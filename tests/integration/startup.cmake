wtcachefs_add_test(startup_errors_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/startup_errors_test.cc LABELS integration)
wtcachefs_add_test(mount_entry_points_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mount_entry_points_test.cc LABELS integration TIMEOUT 300)
