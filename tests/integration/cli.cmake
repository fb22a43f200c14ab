wtcachefs_add_test(bad_input_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/bad_input_test.cc ${CMAKE_CURRENT_LIST_DIR}/cli_fixtures.cc LABELS integration)
wtcachefs_add_test(mount_forms_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mount_forms_test.cc ${CMAKE_CURRENT_LIST_DIR}/cli_fixtures.cc LABELS integration TIMEOUT 300)
