# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(unusable_cache_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/unusable_cache_test.cc ${CMAKE_CURRENT_LIST_DIR}/cli_fixtures.cc LABELS integration)
wtcachefs_add_test(bad_input_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/bad_input_test.cc ${CMAKE_CURRENT_LIST_DIR}/cli_fixtures.cc LABELS integration)
# These tests place /usr/local/bin/wtcachefs for mount(8): never two at once.
wtcachefs_add_test(mount_forms_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mount_forms_test.cc ${CMAKE_CURRENT_LIST_DIR}/cli_fixtures.cc LABELS integration TIMEOUT 300 RESOURCE_LOCK usr_local_bin_wtcachefs)
