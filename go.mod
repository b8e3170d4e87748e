module github.com/ensemble-commerce/ensemble

go 1.24.0

require (
	cel.dev/cel-go v0.33.2 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/shopspring/decimal v1.6.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/text v0.34.0 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)
