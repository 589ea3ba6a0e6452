// Package config reads plumb.yaml, plumb's configuration file. Config is an
// API: decoding is strict (an unknown field is an error naming the file and
// line), there is one defaulting step and one Validate.
//
// Today the file holds ignore rules; clusters, sources and bindings follow
// with fleet support.
//
//	apiVersion: plumb.dev/v1alpha1
//	kind: Config
//	ignore:
//	  - kinds: [apps/Deployment]        # Kind or group/Kind; empty = all
//	    paths: [.spec.replicas]         # kubectl notation or JSON Pointer
//	    managers: [cluster-autoscaler]  # Argo CD's managedFieldsManagers
package config
