# ctest: installs boxlcd's C++ package to a fresh prefix, then configures, builds and runs the
# example trainer against that prefix only (not the build tree).
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DGENERATOR=... [-DMAKE_PROGRAM=...] [-DCXX=...]
#         [-DBUILD_TYPE=...] -P examples/cpp/install_test.cmake
cmake_minimum_required(VERSION 3.18)
set(source_dir ${CMAKE_CURRENT_LIST_DIR})
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc})")
  endif()
endfunction()

run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component boxlcd_cpp)
file(GLOB_RECURSE config ${prefix}/*/boxlcdConfig.cmake)
foreach(f ${prefix}/include/boxlcd/boxlcd.hpp ${config})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "missing after install: ${f}")
  endif()
endforeach()
if(NOT config)
  message(FATAL_ERROR "no boxlcdConfig.cmake under ${prefix}")
endif()

set(args -S ${source_dir} -B ${build} -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
if(MAKE_PROGRAM)
  list(APPEND args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX)
  list(APPEND args -DCMAKE_CXX_COMPILER=${CXX})
endif()
if(BUILD_TYPE)
  list(APPEND args -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
endif()
run("configure the example" ${CMAKE_COMMAND} ${args})

file(STRINGS ${build}/CMakeCache.txt found REGEX "^boxlcd_DIR:")
string(FIND "${found}" "${prefix}" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "the example found boxlcd outside the install prefix: ${found}")
endif()

run("build the example" ${CMAKE_COMMAND} --build ${build})
run("run the example" ${build}/trainer 3)
