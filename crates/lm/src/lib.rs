//! Neural code language models on libtorch.
