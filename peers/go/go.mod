module parlab/peer

go 1.19
