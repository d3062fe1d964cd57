# Warning and sanitizer flags (STYLE.md section 8).
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wformat=2 -Wvla -Wno-format-nonliteral
                    -Wno-format-truncation)
if(WT_WERROR)
  add_compile_options(-Werror)
endif()
if(WT_SANITIZE)
  add_compile_options(-fsanitize=${WT_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${WT_SANITIZE})
endif()
