/** Byte helpers of weft/testing (internal: not re-exported by the testing barrel). */

/** The bytes of `parts`, one after another, in a new array. */
export { concatBytes as concat } from "../protocols/framing/bytes.js";
