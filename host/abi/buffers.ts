// Buffer calls: get clamps to the buffer, set can only prepend, replace or append.
import { BufferType, WasmResult } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import type { BufferRef } from "../proxy/context.ts";

// What get_buffer_bytes copies, for copyOutWith's fill: one function, not a closure per call (a
// closure over the clamped arguments made the call ~0.4 µs slower). Saved and restored around the
// copy in case the module's malloc reads a buffer too.
let copyBuf: BufferRef | null = null;
let copyStart = 0;
let copyLength = 0;
function fillFromBuffer(out: Buffer, at: number): void {
  copyBuf!.copyTo(copyStart, copyLength, out, at);
}

export function bufferFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  return {
    proxy_get_buffer_status(type: number, lenPtr: number, flagsPtr: number): number {
      if (type >>> 0 > BufferType.Max) return WasmResult.BadArgument;
      const buf = vm.context().getBuffer(type);
      if (!buf) return WasmResult.NotFound;
      return m.writeU32(lenPtr, buf.size()) && m.writeU32(flagsPtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_get_buffer_bytes(type: number, start: number, length: number, ptrPtr: number, sizePtr: number): number {
      if (type >>> 0 > BufferType.Max) return WasmResult.BadArgument;
      const buf = vm.context().getBuffer(type);
      if (!buf) return WasmResult.NotFound;
      // cpp-host adds the two as 64-bit Words, so its overflow check never fires for u32 inputs;
      // (0, 0xffffffff) is a common "read everything" idiom.
      start >>>= 0;
      length >>>= 0;
      const size = buf.size();
      if (start > size) length = 0;
      else if (start + length > size) length = size - start;
      // One copy: from the buffer's chunks straight into the module's allocation. A whole
      // one-chunk buffer (a body read, the common case) goes through copyOut's plain set.
      const whole = start === 0 && length === size ? buf.whole() : null;
      if (whole !== null) return m.copyOut(whole, ptrPtr, sizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
      const outerBuf = copyBuf;
      const outerStart = copyStart;
      const outerLength = copyLength;
      copyBuf = buf;
      copyStart = start;
      copyLength = length;
      const ok = m.copyOutWith(length, fillFromBuffer, ptrPtr, sizePtr);
      copyBuf = outerBuf;
      copyStart = outerStart;
      copyLength = outerLength;
      return ok ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_buffer_bytes(type: number, start: number, length: number, dataPtr: number, dataSize: number): number {
      if (type >>> 0 > BufferType.Max) return WasmResult.BadArgument;
      const ctx = vm.context();
      const buf = ctx.getBuffer(type);
      if (!buf) return WasmResult.NotFound;
      start >>>= 0;
      length >>>= 0;
      dataPtr >>>= 0;
      dataSize >>>= 0;
      const guest = m.bytes(dataPtr, dataSize);
      if (guest === null) return WasmResult.InvalidMemoryAccess;
      // The bytes it would replace, written back (a filter that left the body as it read it):
      // drain-and-prepend would leave the buffer as it is, so not even the copy out of guest
      // memory is made. Compared in place, before read() copies.
      if (buf.keeps(start, length, guest, dataPtr, dataSize)) return WasmResult.Ok;
      const data = m.read(dataPtr, dataSize);
      if (data === null) return WasmResult.InvalidMemoryAccess;
      return buf.copyFrom(start, length, data);
    },
  };
}
