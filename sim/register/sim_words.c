/* sim_words.c: see sim_words.h. Each SIM_WORDS ... SIM_END block of a data file becomes a static
 * array and the sim_words that describes it. */
#include "sim_words.h"

/* clang-format off */
#define SIM_WORDS(list) static const char *const list##_v[] = {
#define SIM_WORD(text)  text,
#define SIM_END(list)   }; \
    const sim_words sim_##list = {list##_v, sizeof list##_v / sizeof *list##_v};
/* clang-format on */
#include "data/addresses.def"
#include "data/codes.def"
#include "data/labels.def"
#include "data/people.def"
#include "data/work.def"
#undef SIM_WORDS
#undef SIM_WORD
#undef SIM_END
