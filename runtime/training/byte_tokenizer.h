// The tokenizer of byte-level models trained from scratch: 256 tokens, id = byte value, each
// spelled by GPT-2's byte_to_unicode character, no merges, model "gpt2". A Tokenizer built from it
// encodes valid UTF-8 NFC text to exactly its bytes (the tokenizer repairs invalid UTF-8 to U+FFFD
// and NFC-normalises first, as for every GPT-2 style vocabulary). No BOS/EOS/PAD: the training text
// has no end-of-text token a byte model could learn, so generation stops on length or a stop
// string.
#pragma once

#include "mamba2/tokenizer_data.h"

namespace mamba2::training {

TokenizerData byte_level_tokenizer();

}  // namespace mamba2::training
