// Kubernetes resource quantities ("100m", "1.5Gi", "2e3"), parsed to a plain
// number of base units (cores, bytes, pods) so configuration and Agent limits
// can be validated and compared. The grammar is apimachinery's resource.Quantity:
//
//   quantity ::= ["+" | "-"] number [suffix]
//   number   ::= digits | digits "." [digits] | "." digits
//   suffix   ::= binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (n u m "" k M G T P E)
//              | ("e" | "E") signedInteger
//
// A JS number is exact up to 2^53 and otherwise rounds: fine for validation and
// comparison, not for echoing a value back (keep the original string for that).

const QUANTITY =
  /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|(n|u|m|k|M|G|T|P|E))?$/;

const BINARY_POWER: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_EXPONENT: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/** The value of a quantity in base units, or undefined when it is not a valid quantity. */
export function tryParseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (match === null) return undefined;
  const [, number = '', binary, exponent, decimal] = match;
  let value: number;
  if (binary !== undefined) {
    value = Number(number) * 1024 ** (BINARY_POWER[binary] ?? 0);
  } else {
    // Decimal scaling goes through the number parser ("100e-3"), which rounds
    // once and correctly: 100 * 0.001 would not give exactly 0.1.
    const power =
      exponent !== undefined
        ? Number(exponent)
        : decimal !== undefined
          ? (DECIMAL_EXPONENT[decimal] ?? 0)
          : 0;
    value = Number(`${number}e${power}`);
  }
  return Number.isFinite(value) ? value : undefined;
}

/** The value of a quantity in base units; throws a RangeError naming the bad text. */
export function parseQuantity(text: string): number {
  const value = tryParseQuantity(text);
  if (value === undefined) {
    throw new RangeError(
      `"${text}" is not a valid Kubernetes quantity (examples: 500m, 2, 1.5Gi, 128Mi, 1e3)`,
    );
  }
  return value;
}
