/* sim_words.h: the word lists a demand's text is drawn from: names, addresses, occupations,
 * labels and the contract's code lists (the .def files of sim/data/), compiled in. Read-only. */
#ifndef SIM_WORDS_H
#define SIM_WORDS_H

#include <stdint.h>

typedef struct sim_words {
    const char *const *v; /* static UTF-8 strings */
    uint32_t n;           /* at least 1 */
} sim_words;

#define SIM_WORDS(list) extern const sim_words sim_##list;
#define SIM_WORD(text)
#define SIM_END(list)
#include "data/addresses.def"
#include "data/codes.def"
#include "data/labels.def"
#include "data/people.def"
#include "data/work.def"
#undef SIM_WORDS
#undef SIM_WORD
#undef SIM_END

#endif
