# Box2D 2.4.1, as the target box2d::box2d.
#
# By default it is built here from its pinned source, statically and with this build's flags:
# upstream's v2.4.1 archive, or where GitHub is out of reach Debian's copy of the very same
# file (box2d_2.4.1.orig.tar.gz); the SHA-256 below checks whichever arrives. A Box2D 2.4.1
# source folder given as BOX2D_SOURCE_DIR (CMake variable or environment) is used instead of
# downloading. Box2D is built with boxlcd's b2_user_settings.h (cpp/box2d), whose b2Alloc
# throws std::bad_alloc on failure instead of returning null.
#
# -DBOXLCD_SYSTEM_BOX2D=ON uses an installed Box2D 2.4 package (Debian: libbox2d-dev) instead;
# that build has no allocator hook, so an allocation that fails inside a step crashes.
option(BOXLCD_SYSTEM_BOX2D "Use an installed Box2D 2.4 (find_package) instead of building it" OFF)

if(BOXLCD_SYSTEM_BOX2D)
  find_package(box2d 2.4 CONFIG REQUIRED)
  message(STATUS "Box2D: the installed package in ${box2d_DIR}")
  return()
endif()

set(BOX2D_SOURCE_DIR "$ENV{BOX2D_SOURCE_DIR}" CACHE PATH "A Box2D 2.4.1 source folder to build instead of downloading")
if(BOX2D_SOURCE_DIR)
  set(FETCHCONTENT_SOURCE_DIR_BOX2D "${BOX2D_SOURCE_DIR}")
endif()
include(FetchContent)
# SOURCE_SUBDIR names a folder with no CMakeLists.txt: fetch only; the target is defined below.
FetchContent_Declare(box2d
  URL https://github.com/erincatto/box2d/archive/refs/tags/v2.4.1.tar.gz
      https://deb.debian.org/debian/pool/main/b/box2d/box2d_2.4.1.orig.tar.gz
      http://deb.debian.org/debian/pool/main/b/box2d/box2d_2.4.1.orig.tar.gz
  URL_HASH SHA256=d6b4650ff897ee1ead27cf77a5933ea197cbeef6705638dd181adc2e816b23c2
  DOWNLOAD_EXTRACT_TIMESTAMP ON
  SOURCE_SUBDIR no-cmake-project)
FetchContent_MakeAvailable(box2d)
if(NOT EXISTS "${box2d_SOURCE_DIR}/include/box2d/b2_world.h")
  message(FATAL_ERROR "${box2d_SOURCE_DIR} is not a Box2D 2.4 source folder (no include/box2d/b2_world.h)")
endif()
message(STATUS "Box2D: built from ${box2d_SOURCE_DIR}")

file(GLOB_RECURSE box2d_sources CONFIGURE_DEPENDS "${box2d_SOURCE_DIR}/src/*.cpp")
add_library(box2d STATIC ${box2d_sources})
add_library(box2d::box2d ALIAS box2d)
target_include_directories(box2d SYSTEM PUBLIC
  $<BUILD_INTERFACE:${box2d_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/cpp/box2d>
  $<INSTALL_INTERFACE:include>)
target_include_directories(box2d PRIVATE "${box2d_SOURCE_DIR}/src")
# PUBLIC: Box2D and every user of its headers must agree on b2Alloc and the user data.
target_compile_definitions(box2d PUBLIC B2_USER_SETTINGS)
set_target_properties(box2d PROPERTIES POSITION_INDEPENDENT_CODE ON
                      CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)

# Installed with boxlcd's C++ package (cpp/CMakeLists.txt exports it as boxlcd::box2d).
install(TARGETS box2d EXPORT boxlcdTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT boxlcd_cpp)
install(DIRECTORY "${box2d_SOURCE_DIR}/include/box2d" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT boxlcd_cpp)
install(FILES "${PROJECT_SOURCE_DIR}/cpp/box2d/b2_user_settings.h" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT boxlcd_cpp)
