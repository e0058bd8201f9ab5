// "<program>: preparing weights: layer 12/64" rewritten in place on a terminal while a model
// is prepared (seconds for a large q8_0 or f16 file), and cleared when it is done; nothing
// when stderr is not a terminal, so logs and pipes stay clean.
#pragma once

#include "mamba2/model.h"

namespace mamba2::apps {

Model::PrepareProgress load_progress(const char* program);

}  // namespace mamba2::apps
