# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(origin_consistency_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/origin_consistency_test.cc LABELS integration TIMEOUT 600)
# Over an origin that caches attributes: the benchmark's slow-origin fixture.
target_compile_definitions(origin_consistency_test PRIVATE SLOW_ORIGIN_FS_BINARY="$<TARGET_FILE:slow_origin_fs>")
add_dependencies(origin_consistency_test slow_origin_fs)
target_link_libraries(origin_consistency_test PRIVATE PkgConfig::URING)
