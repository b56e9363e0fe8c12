# Engine benchmark (bench/engine_bench.cpp, driven by bench/engine_bench.sh);
# included from bench/CMakeLists.txt.
add_executable(engine_bench ${CMAKE_CURRENT_LIST_DIR}/engine_bench.cpp)
target_link_libraries(engine_bench PRIVATE stasis_engine stasis_test_support)
target_compile_definitions(engine_bench PRIVATE STASIS_BINARY_DIR="${PROJECT_BINARY_DIR}")
set_target_properties(engine_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
stasis_set_warnings(engine_bench)
