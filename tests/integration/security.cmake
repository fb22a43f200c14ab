# SPDX-License-Identifier: Apache-2.0
# Security of the cache and of the view: modes in CACHE, default_permissions with
# allow_other, other users, nothing resolving outside ORIGIN, unprivileged mounts.
wtcachefs_add_test(security_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/security_test.cc ${CMAKE_CURRENT_LIST_DIR}/posix_helpers.cc ${CMAKE_CURRENT_LIST_DIR}/cli_fixtures.cc LABELS integration)
