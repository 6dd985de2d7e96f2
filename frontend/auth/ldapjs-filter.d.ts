/** The part of @ldapjs/filter 2 (no bundled types) that ldap-filter.ts uses. */
declare module '@ldapjs/filter' {
  export class FilterString {
    readonly type: string;
    attribute: string | undefined;
    value: unknown;
    toString(): string;
    toBer(): { buffer: Buffer };
    readonly [Symbol.toStringTag]: string;
  }
  export class AndFilter extends FilterString { constructor(o: { filters: FilterString[] }); readonly filters: FilterString[] }
  export class OrFilter extends FilterString { constructor(o: { filters: FilterString[] }); readonly filters: FilterString[] }
  export class NotFilter extends FilterString { constructor(o: { filter: FilterString }); readonly filter: FilterString }
  export class EqualityFilter extends FilterString { constructor(o: { attribute: string; value: string | Buffer }) }
  export class ApproximateFilter extends FilterString { constructor(o: { attribute: string; value: string }) }
  export class GreaterThanEqualsFilter extends FilterString { constructor(o: { attribute: string; value: string }) }
  export class LessThanEqualsFilter extends FilterString { constructor(o: { attribute: string; value: string }) }
  export class PresenceFilter extends FilterString { constructor(o: { attribute: string }) }
  export class SubstringFilter extends FilterString {
    constructor(o: { attribute: string; initial?: string; any?: string[]; final?: string });
    readonly initial: string | undefined;
    readonly any: string[];
    readonly final: string | undefined;
  }
  export class ExtensibleFilter extends FilterString {
    constructor(o: { attribute?: string; value: string; rule?: string; dnAttributes?: boolean });
    readonly matchingRule: string | undefined;
    readonly dnAttributes: boolean;
  }
  export function parseString(s: string): FilterString;
  const filters: {
    parseString: typeof parseString;
    FilterString: typeof FilterString;
    AndFilter: typeof AndFilter;
    OrFilter: typeof OrFilter;
    NotFilter: typeof NotFilter;
    EqualityFilter: typeof EqualityFilter;
    ApproximateFilter: typeof ApproximateFilter;
    GreaterThanEqualsFilter: typeof GreaterThanEqualsFilter;
    LessThanEqualsFilter: typeof LessThanEqualsFilter;
    PresenceFilter: typeof PresenceFilter;
    SubstringFilter: typeof SubstringFilter;
    ExtensibleFilter: typeof ExtensibleFilter;
  };
  export default filters;
}
