public import CaseDomain

/// Why a policy-direct command refused, in both languages.
public typealias PolicyStoreError = CommandRefusal
