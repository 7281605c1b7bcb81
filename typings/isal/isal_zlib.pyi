# isal 1.9.1 ships stubs whose data parameters are unannotated (partially unknown to pyright in strict mode): these
# are its signatures with `bytes` for the data, only what app/web/compression.py calls.

DEFLATED: int
Z_SYNC_FLUSH: int
Z_FINISH: int

class Compress:
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self, mode: int = ..., /) -> bytes: ...

def compress(data: bytes, /, level: int = ..., wbits: int = ...) -> bytes: ...
def compressobj(
    level: int = ...,
    method: int = ...,
    wbits: int = ...,
    memLevel: int = ...,
    strategy: int = ...,
    zdict: bytes | None = ...,
) -> Compress: ...
