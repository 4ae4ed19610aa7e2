module gogo

go 1.21
