from pswrap.cli import main

main()
