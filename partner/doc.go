// Package partner holds the partner network and the rules partners work
// under: who the partners are (types, tiers, territories, certifications),
// how they relate (hierarchies of any depth, distributor -> reseller ->
// sub-reseller ...), how their terms changed over time, where each stands in
// onboarding, and the programs whose CEL policies decide who may sell what
// where, what discount needs approval and who may approve it — with an audit
// event for every decision.
//
// Everything is effective-dated: a Network answers for any instant, because
// a payout for March uses March's tier and parent.
//
//	net, err := partner.LoadNetwork(yamlOrJSON)
//	snap, err := net.At("reseller-nl", march15)   // tier, parent, status then
//	chain, err := net.Chain("sub-reseller-1", march15) // up to the distributor
//
// Onboarding (applied -> vetted -> active -> suspended -> active |
// offboarded) and approvals (requested -> approved | rejected | expired) are
// values with pure transition functions that return events; Fold and
// FoldApproval rebuild them from the events exactly. Suspended and offboarded
// partners cannot trade (Snapshot.CanTrade), which the settlement package
// uses to route their shares.
//
// A Route is who took part in one sale: its kind, the seller and its chain
// at the sale, the marketplace, the referrer and the co-sellers. Package
// order keeps one on every order and package settlement reads one on every
// line, the same type in both.
package partner
