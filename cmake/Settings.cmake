# Language level and build defaults shared by every target.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

# Where stasis looks for its privately provisioned CRIU (scripts/provision-criu.sh).
set(STASIS_CRIU_PREFIX "/opt/stasis/criu" CACHE PATH "Private CRIU prefix")
# Fixed like the state dir: a daemon reads /etc whatever the install prefix.
set(STASIS_POLICY_DIR "/etc/stasis/policy.d" CACHE PATH "Default policy dir")
set(STASIS_STATE_DIR "/var/lib/stasis" CACHE PATH "Default state dir")

if(STASIS_ENABLE_SANITIZERS)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
