// Package attack is the MITRE ATT&CK® Enterprise catalogue (v18.1) the
// appliance names techniques and tactics with: alerts and incidents carry
// technique IDs (from Sigma rule tags), and the API and UI show the names
// and tactics looked up here.
//
// The data is embedded from data/ (copied unchanged from the project's
// product data, with MITRE's LICENSE.txt, which anything showing it must
// reproduce: "© 2025 The MITRE Corporation. This work is reproduced and
// distributed with the permission of The MITRE Corporation.").
//
// It imports nothing of the appliance.
package attack
