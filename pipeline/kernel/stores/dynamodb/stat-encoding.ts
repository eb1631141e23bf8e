/**
 * How a statistic (any finite float64) is held in a DynamoDB attribute. DynamoDB's Number holds
 * only 0 and magnitudes 1e-130 ..< 1e126 (38 significant digits), with no -0. A statistic inside
 * that domain is written as a Number, String(x) (the shortest decimal that parses back to the same
 * double, so it round-trips exactly); one outside it (-0, subnormals such as 5e-324, |x| < 1e-130,
 * |x| >= 1e126 such as Number.MAX_VALUE) is written under the same attribute name as a String of
 * the float64's exact IEEE-754 bits, 16 lowercase hex digits big-endian. Items written before
 * this hold only Numbers and read as before.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** Smallest magnitude DynamoDB's Number holds besides 0. */
const DYNAMO_NUMBER_MIN_MAGNITUDE = 1e-130;
/** Magnitudes from here up exceed DynamoDB's Number (its largest is 9.99…e125, 38 nines). */
const DYNAMO_NUMBER_MAX_EXCLUSIVE = 1e126;

/** True when DynamoDB's Number can hold x and String(x) reads back to exactly x (so -0 is false). */
export function fitsDynamoNumber(x: number): boolean {
  if (!Number.isFinite(x)) return false;
  if (x === 0) return !Object.is(x, -0);
  const m = Math.abs(x);
  return m >= DYNAMO_NUMBER_MIN_MAGNITUDE && m < DYNAMO_NUMBER_MAX_EXCLUSIVE && Object.is(Number(String(x)), x);
}

/** The float64's IEEE-754 bits, big-endian, as 16 lowercase hex digits. */
export function float64ToHex(x: number): string {
  const buf = Buffer.alloc(8);
  buf.writeDoubleBE(x);
  return buf.toString('hex');
}

const HEX_BITS = /^[0-9a-f]{16}$/;

/** The float64 of 16 hex digits written by float64ToHex, or undefined when the text is not that. */
export function hexToFloat64(hex: string): number | undefined {
  if (!HEX_BITS.test(hex)) return undefined;
  return Buffer.from(hex, 'hex').readDoubleBE();
}

/** A statistic as an attribute: a Number inside DynamoDB's domain, else a String of its exact bits. */
export function encodeStat(x: number): AttributeValue {
  return fitsDynamoNumber(x) ? { N: String(x) } : { S: float64ToHex(x) };
}

/** The float64 an attribute written by encodeStat (or by earlier versions, N only) holds; undefined if neither. */
export function decodeStat(v: AttributeValue): number | undefined {
  if (v.N !== undefined) return Number(v.N);
  if (v.S !== undefined) return hexToFloat64(v.S);
  return undefined;
}
