//! Text towers: pretrained MiniLM, a small text Transformer, the captioning
//! decoder and projection heads. Not written yet (issue 5).
