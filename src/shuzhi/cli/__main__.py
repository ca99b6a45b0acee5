from shuzhi.cli.main import main

main()
