# Warning and sanitizer flags (STYLE.md section 8).
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wformat=2 -Wvla -Wno-format-nonliteral)
# Truncation by snprintf into fixed buffers is deliberate (bounded fields).
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-Wno-format-truncation)
endif()
if(WT_WERROR)
  add_compile_options(-Werror)
endif()
if(WT_SANITIZE)
  add_compile_options(-fsanitize=${WT_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${WT_SANITIZE})
endif()
