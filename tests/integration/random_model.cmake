wtcachefs_add_test(random_model_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/random_model_test.cc ${CMAKE_CURRENT_LIST_DIR}/tree_compare.cc LABELS integration TIMEOUT 900)
