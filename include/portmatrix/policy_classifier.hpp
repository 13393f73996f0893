// The policy IR compiled into classifiers: step 4 of the policy frame (the
// rules, first match wins) answered by a compiled Classifier instead of the
// reference evaluator's linear scan, with the same answer for every packet.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "portmatrix/classifier.hpp"
#include "portmatrix/diag.hpp"
#include "portmatrix/evaluate.hpp"
#include "portmatrix/policy.hpp"

namespace portmatrix {

// Each Rule becomes one classifier rule per combination of its address
// ranges, port ranges and (for a rule on every direction) tags, all with the
// rule's index as id; IPv4 and IPv6 get a classifier each. Interfaces the rules
// name become tag ids; others share an id no rule uses.
class PolicyClassifier {
 public:
  // Compiles policy (which it copies). Fails (Error::Kind::input) only when the
  // rules name more interfaces than a tag can tell apart (kMaxIfaceId).
  static Expected<PolicyClassifier> compile(const Policy& policy, const ClassifierVariant* variant = nullptr,
                                            const ClassifierOptions& options = {});

  // The index of the first rule that matches p (rule_matches, in order), or -1.
  int first_rule(const Packet& p) const;
  // What evaluate(policy, p) returns.
  Verdict evaluate(const Packet& p) const;

  const Policy& policy() const { return policy_; }
  // Classifier rules the policy expanded into (both families).
  std::size_t entries() const { return entries_; }
  std::size_t memory_bytes() const;

 private:
  PolicyClassifier() = default;
  Policy policy_;
  std::unordered_map<std::string, std::uint32_t> ifaces_;  // named interface -> tag id (from 1)
  std::unique_ptr<Classifier> v4_;
  std::unique_ptr<Classifier6> v6_;
  std::size_t entries_ = 0;
};

}  // namespace portmatrix
